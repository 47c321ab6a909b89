"""The words the offline planner knows: number words, kinds as people write them, the verbs
of each action, and the filler words that are never part of an object's name.

Everything here is data (sets, dicts and regexes compiled at import), so parsing a sentence
is a few regex passes and set lookups: well under a millisecond.
"""

from __future__ import annotations

import re

NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
    "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000,
}
# "one" stays a word after these ("the one in todo-w1", "which one?").
ONE_AS_PRONOUN = re.compile(r"\b(the|this|that|which|each|every|any|no|some|other|first|second|last|same)\s+one\b")
NUMBER_WORD = re.compile(r"(?<![\w-])(" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")(?![\w-])")
# "a replica", "another instance", "a couple of replicas": counts spelled with articles.
ARTICLE_COUNT = re.compile(r"\b(?:a couple of|a pair of)\s+(?=(?:more\s+|extra\s+|additional\s+)?(?:replicas?|pods?|"
                           r"instances?|copies|copy)\b)")
ARTICLE_ONE = re.compile(r"\b(?:an?|another|one more|an extra|an additional)\s+(?=(?:more\s+|extra\s+|additional\s+)?"
                         r"(?:replica|pod|instance|copy)\b)")

# kind word -> the kind as the tools take it
KINDS = {
    "pod": "pods", "pods": "pods", "po": "pods",
    "deployment": "deployments", "deployments": "deployments", "deploy": "deployments", "deploys": "deployments",
    "service": "services", "services": "services", "svc": "services", "svcs": "services",
    "statefulset": "statefulsets", "statefulsets": "statefulsets", "sts": "statefulsets",
    "daemonset": "daemonsets", "daemonsets": "daemonsets", "ds": "daemonsets",
    "replicaset": "replicasets", "replicasets": "replicasets", "rs": "replicasets",
    "job": "jobs", "jobs": "jobs", "cronjob": "cronjobs", "cronjobs": "cronjobs", "cj": "cronjobs",
    "configmap": "configmaps", "configmaps": "configmaps", "cm": "configmaps",
    "secret": "secrets", "secrets": "secrets",
    "ingress": "ingresses", "ingresses": "ingresses", "ing": "ingresses",
    "hpa": "horizontalpodautoscalers", "hpas": "horizontalpodautoscalers",
    "autoscaler": "horizontalpodautoscalers", "autoscalers": "horizontalpodautoscalers",
    "node": "nodes", "nodes": "nodes",
    "pvc": "persistentvolumeclaims", "pvcs": "persistentvolumeclaims",
    "pv": "persistentvolumes", "pvs": "persistentvolumes",
    "endpoint": "endpoints", "endpoints": "endpoints",
    "serviceaccount": "serviceaccounts", "serviceaccounts": "serviceaccounts", "sa": "serviceaccounts",
    "networkpolicy": "networkpolicies", "networkpolicies": "networkpolicies", "netpol": "networkpolicies",
    "namespace": "namespaces", "namespaces": "namespaces", "ns": "namespaces",
}
# Kinds whose objects a workload tool takes (scale, set_image, rollout_*), singular as the tools want.
WORKLOAD_KIND = {"deployments": "deployment", "statefulsets": "statefulset", "daemonsets": "daemonset",
                 "replicasets": "replicaset"}
SINGULAR = {"pods": "pod", "deployments": "deployment", "services": "service", "statefulsets": "statefulset",
            "daemonsets": "daemonset", "replicasets": "replicaset", "jobs": "job", "cronjobs": "cronjob",
            "configmaps": "configmap", "secrets": "secret", "ingresses": "ingress",
            "horizontalpodautoscalers": "hpa", "nodes": "node", "persistentvolumeclaims": "pvc",
            "persistentvolumes": "pv", "endpoints": "endpoints", "serviceaccounts": "serviceaccount",
            "networkpolicies": "networkpolicy", "namespaces": "namespace"}

# Words that are never (part of) an object's name.
_FILLER = """
a an the my our your their his her this these those that all every each any some of for to from in into on onto
at with by and or but please pls kindly now then also me us i we you is are was were be been being do does did
has have had what whats which who how why when where there here show list get display give tell see look check
view fetch let lets can could would will should may might just quickly currently right again up down out back
thanks thank okay ok hey hi so same one ones running run runs currently current state status about named called
whole entire new old latest recent recently last past first second other both it its it's them they their
whether if not no yes much many more less fewer than only such same kubectl k8s kubernetes cluster resource
resources object objects workload workloads thing things stuff everything anything something as via using use
need needs want wants wanted like likes count number amount rid another bit little lot lots sure ensure keep kept
too very really quite maybe perhaps actually basically still yet already mine ours yours guys folks total overall
exactly please each having getting got let's make makes made pls plz doing done keeps seems seem seemed going
think guess believe looks looked sometimes randomly suddenly lately today tonight yesterday constantly always never
again anymore like seeing noticed notice wonder wondering mind check checking help capacity load traffic
performance headroom room enough someone somebody anyone anybody command commands way steps say says said mean
means meaning summarize summarise analyse analyze interpret
"""
FILLER = frozenset(_FILLER.split())
# What a question asks about, never an object's name ("which port does the backend listen on?", "what
# annotations are on X", "grep the logs for database", "according to its logs").
ATTRIBUTES = frozenset({
    "port", "ports", "path", "paths", "address", "addresses", "annotation", "annotations", "label", "labels",
    "probe", "probes", "value", "values", "user-supplied", "supplied", "defaults", "including", "according", "find",
    "listen", "listens", "listening", "exact", "mentioning", "mentions", "hit", "hits", "through", "starts", "field",
    "fields", "setting", "settings"
})
PRONOUNS = frozenset({"it", "its", "it's", "them", "they", "their", "that", "this", "same", "those", "these"})
GENERIC = frozenset({"app", "application", "apps", "applications", "stack", "service", "system", "project"})

# Polite and conversational wrappers around a request.
POLITE_HEAD = re.compile(
    r"^(?:(?:hey|hi|hello|ok|okay|so|alright|well|now|please|pls|kindly|kai|yo|also|and|then|next|great|thanks|"
    r"thank you|cool|good|right)\b[,:!.]?\s*|(?:could|can|would|will) you(?: please| kindly| mind)?\s+|"
    r"(?:i (?:want|need|would like|'d like|wanna)|i'd like) (?:you )?to\s+|i want\s+(?=to\s)|"
    r"(?:go ahead and|help me|let'?s|lets|be so kind as to|do me a favou?r and|try to|quickly|just)\s+|"
    r"try\s+(?=\w+ing\b)|"
    r"(?:is it possible to|are you able to|please can you)\s+)+")
POLITE_TAIL = re.compile(r"(?:[,\s]+(?:please|pls|for me|thanks|thank you|kai|asap|right now|if you can|"
                         r"if possible|would you|could you|thx|ty|quickly|now))+\s*$")

# Verbs and nouns by action (whole words).
SCALE_WORDS = re.compile(r"\b(scale[sd]?|scaling|resize|double|triple|quadruple|halve|replicas?|instances?|copies|"
                         r"horizontally)\b")
# A restart is asked for with the verb itself ("restart backend") or a gerund leading the clause ("would you
# mind restarting…" once the polite wrapper is gone); "restarts", "restarted", "keeps restarting" and
# "restart count" talk about restarts (RESTART_TALK: a read).
RESTART_WORDS = re.compile(r"\b(restart|bounce|reboot|recycle|redeploy|cycle|kick)\b(?!\s+(?:count|counts|number|"
                           r"numbers|total|policy|policies|loop|loops|history|times?|reason|events?|rate)\b)|"
                           r"^(?:try\s+)?(restarting|bouncing|rebooting|recycling|redeploying|cycling)\b|"
                           r"^(?:i|we)(?:'d like|\s+(?:want|need|would like))\s+(?:the\s+|my\s+|our\s+)?[\w-]+"
                           r"(?:\s+pods)?\s+(restarted|bounced|rebooted|recycled|redeployed)$")
RESTART_TALK = re.compile(r"\b(restarts|restarted|restarting|rebooted|bounced|restart (?:count|counts|number|total|"
                          r"policy|loop|history|times?|reason|rate))\b|\b(?:number|count) of restarts?\b")
ROLLBACK_WORDS = re.compile(r"\b(roll\s*back|rollback|rolling back|roll\s+(?:[\w-]+\s+){1,3}back|revert|undo|go back|"
                            r"rewind|downgrade)\b")
INSTALL_WORDS = re.compile(r"\b(install|installing|deploy)\b")
UNINSTALL_WORDS = re.compile(r"\b(uninstall|helm delete|helm del|helm remove)\b")
DELETE_WORDS = re.compile(r"\b(delete|deleting|remove|removing|destroy|drop|kill|erase|purge|get rid of|tear down|nuke|"
                          r"wipe)\b")
UPGRADE_WORDS = re.compile(r"\b(upgrade|update|upgrading|updating)\b")
IMAGE_WORDS = re.compile(r"\b(image|images|tag|version)\b")
LOG_WORDS = re.compile(r"\b(logs?|log lines?|output|stdout|stderr|printing|printed|prints)\b|"
                       r"\b(?:does|do|did)\b[\w\s-]{0,40}?\b(?:print|log|emit)\b")
EVENT_WORDS = re.compile(r"\b(events?|warnings?|what happened|happening)\b")
DIAGNOSE_WORDS = re.compile(
    r"\b(why|what'?s wrong|what is wrong|whats wrong|wrong with|diagnose|diagnosis|troubleshoot|debug|investigate|"
    r"root cause|not working|doesn'?t work|broken|failing|fails|failed|crash(?:ing|es|ed|loop|looping)?|restarting|"
    r"keeps? (?:on )?(?:dying|getting killed|rebooting)|restart loop|"
    r"unhealthy|down\?|problems?|issues?|not ready|not starting|won'?t start|stuck|pending|going on|slow|errors? out|"
    r"timing out|times out|flapping|oom\w*|killed|is down|are down|went down)\b")
HEALTH_WORDS = re.compile(r"\b(health|healthy|ok|okay|fine|up and running|alive|doing|working|status)\b")
HISTORY_WORDS = re.compile(r"\b(history|revisions|versions|how (?:many times|often)\b.*\b(?:upgraded|updated|"
                           r"rolled back|deployed|released))\b")
VALUES_WORDS = re.compile(r"\b(values|every value|config(?:uration)?)\b")
RELEASE_WORDS = re.compile(r"(?<![\w-])(helm|release|releases|chart|charts)(?![\w-])")
LIST_WORDS = re.compile(r"\b(show|list|get|display|what|which|how many|view|see|print|give|find|are there|any)\b")
DESCRIBE_WORDS = re.compile(r"\b(describe|details?|detailed|explain|inspect|probes?)\b")
ROLLOUT_STATUS = re.compile(r"\b(rollout status|rolled out|rollout (?:done|finished|complete)|"
                            r"(?:is|has) the rollout|rollout progress)\b")
ENV_WORDS = re.compile(r"\b(env|environment|variables?|vars?)\b")
AUTOSCALE_WORDS = re.compile(r"\bautoscale\b|\b(?:enable|add|create|set up|configure|turn on)\b.*\b(?:autoscaling|"
                             r"autoscaler|hpa)\b")
NODE_VERBS = re.compile(r"\b(cordon|uncordon|drain)\b")
CAN_I = re.compile(r"\b(?:can|may|am) i(?: allowed to)?\s+(get|list|watch|create|update|patch|delete|scale|exec)\b")

# Out of scope, unsafe and unsupported requests (checked before any parsing).
INJECTION = re.compile(
    r"\b(ignore|disregard|forget|override|bypass)\b[^.]{0,40}\b(instructions?|rules?|prompts?|guidelines?|polic(?:y|ies)|"
    r"guard(?:rails?)?|restrictions?|safety|approvals?)\b|\bjailbreak|\bdeveloper mode\b|\bsystem prompt\b|"
    r"\byou are now\b|\bpretend (?:to be|you)\b|\b(?:without|skip(?:ping)?|no) (?:the )?(?:approval|confirmation|"
    r"guard|policy)\b|\bact as (?:root|admin)\b")
SECRET_NOUNS = re.compile(r"\b(secrets?|passwords?|passwd|tokens?|credentials?|api[ -]?keys?|private keys?|"
                          r"kubeconfig|certificates?|certs?)\b")
_SECRET_THING = r"(?:[\w-]+ )?(?:passwords?|tokens?|credentials?|api keys?|keys?)"
SECRET_REVEAL = re.compile(r"\b(values?|contents?|data|decoded?|decoding|reveal|print|dump|plain ?text|base64|cat|leak|"
                           r"expose|exfiltrate|copy|yaml|json)\b|-o\s*(?:yaml|json)|what(?:'s| is| are) "
                           r"(?:the |my |our )?" + _SECRET_THING + r"\b|(?:tell|give|show) me (?:the |my )?"
                           + _SECRET_THING)
BULK_TARGET = re.compile(r"\b(?:all|every|each)\s+(?:of\s+)?(?:the\s+|my\s+|your\s+|our\s+)?(?:namespaces?|pods?|"
                         r"deployments?|services?|releases?|resources|objects|workloads|nodes?|statefulsets?|"
                         r"daemonsets?|configmaps?|secrets?|replicas?|apps?|charts?|things|stuff)\b|\beverything\b|"
                         r"\b(?:the )?(?:whole|entire) cluster\b|\ball of (?:it|them)\b|\bwipe\b|\bnuke\b")
DANGEROUS = re.compile(r"rm\s+-rf|\bmkfs\b|\bdrop (?:table|database)\b|:\(\)\s*\{|\bshutdown\b|\bformat (?:the )?"
                       r"(?:disk|drive|node)\b|\bchmod\s+777\b|\bcurl\b[^|]*\|\s*(?:ba)?sh\b")
UNSUPPORTED = re.compile(r"\b(exec(?:ute)? (?:into|in|a command|commands|inside)|exec\b|shell into|open a shell|ssh|"
                         r"port[- ]forward|attach to|kubectl cp|copy files?|run (?:a |the )?command|"
                         r"execute (?:a |the )?command|proxy)\b")
OUT_OF_SCOPE = re.compile(  # whole words, not parts of names (namespace todo-s3, deployment aws-proxy)
    r"(?<![\w-])(poems?|haiku|song|lyrics|story|stories|jokes?|weather|forecast|recipes?|cook|translate|s3|buckets?|ec2|"
    r"lambda|aws|azure|gcp|google cloud|terraform|cloudformation|emails?|stocks?|bitcoin|crypto|movies?|"
    r"capital of|president|football|soccer|essay|homework|dinner|lunch|sql database|vm|virtual machine|"
    r"dns record|domain name|tweet|linkedin|slack message|pizza|horoscope|lottery|meaning of life|flights?|hotels?|"
    r"laptops?|desktops?|my (?:computer|pc|mac|phone)|browser|printers?|wi-?fi)(?![\w-])"
    r"|\bwrite (?:me )?an? (?:[\w+#-]+ )?(?:script|program|function)\b")
