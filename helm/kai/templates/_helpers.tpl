{{/*
Chart name, truncated to the 63 characters a label value allows.
*/}}
{{- define "kai.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified name: the release name, prefixed to the chart name unless it already contains
it ("kai" for the release "kai"). Name of the Deployment, Service, ServiceAccount, Role, ...
*/}}
{{- define "kai.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart name and version for the helm.sh/chart label.
*/}}
{{- define "kai.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kai.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kai.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "kai.labels" -}}
helm.sh/chart: {{ include "kai.chart" . }}
{{ include "kai.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "kai.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kai.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Name of the Secret the container reads: the existing one when given, else the chart's own.
*/}}
{{- define "kai.secretName" -}}
{{- default (include "kai.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{- define "kai.policyName" -}}
{{- printf "%s-policy" (include "kai.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kai.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
The target namespaces as a JSON list (targetNamespace is one name or a list).
*/}}
{{- define "kai.targets" -}}
{{- $targets := .Values.targetNamespace }}
{{- if kindIs "string" $targets }}{{ $targets = list $targets }}{{ end }}
{{- toJson ($targets | uniq) }}
{{- end }}

{{/*
The risk classes the Role grants, as a JSON list: read up to rbac.grant, only read when the
policy's mode is read-only (kai then never writes).
*/}}
{{- define "kai.grants" -}}
{{- $classes := list "read" "write" "destructive" }}
{{- $grant := .Values.rbac.grant }}
{{- if eq (toString (dig "mode" "" .Values.policy)) "read-only" }}{{ $grant = "read" }}{{ end }}
{{- $grants := list }}
{{- $done := false }}
{{- range $class := $classes }}
{{- if not $done }}{{ $grants = append $grants $class }}{{ end }}
{{- if eq $class $grant }}{{ $done = true }}{{ end }}
{{- end }}
{{- toJson $grants }}
{{- end }}

{{/*
Rules of a Role or ClusterRole from entries of rbac-needs.yaml. Called with (dict "entries" list
"verbs" allowed-verbs-or-empty "skip" resources-to-leave-out). Entries for the same resource merge;
one rule per resource, sorted (the core group first), verbs sorted: each rule reads at a glance.
*/}}
{{- define "kai.rules" -}}
{{- $merged := dict }}
{{- range $entry := .entries }}
{{- if not (has $entry.resource ($.skip | default list)) }}
{{- $key := printf "%s %s" $entry.group $entry.resource }}
{{- $verbs := $entry.verbs }}
{{- if $.verbs }}
{{- $kept := list }}
{{- range $verb := $verbs }}{{ if has $verb $.verbs }}{{ $kept = append $kept $verb }}{{ end }}{{ end }}
{{- $verbs = $kept }}
{{- end }}
{{- if $verbs }}
{{- $_ := set $merged $key (concat (get $merged $key | default list) $verbs | uniq | sortAlpha) }}
{{- end }}
{{- end }}
{{- end }}
{{- range $key, $verbs := $merged }}
{{- $parts := splitn " " 2 $key }}
- apiGroups: [{{ $parts._0 | quote }}]
  resources: [{{ $parts._1 | quote }}]
  verbs: {{ toJson $verbs }}
{{- end }}
{{- end }}

{{/*
An HTTP GET probe on the container's port. Called with the probe's values.
*/}}
{{- define "kai.httpProbe" -}}
httpGet:
  path: {{ .path }}
  port: http
initialDelaySeconds: {{ .initialDelaySeconds }}
periodSeconds: {{ .periodSeconds }}
timeoutSeconds: {{ .timeoutSeconds }}
failureThreshold: {{ .failureThreshold }}
successThreshold: {{ .successThreshold }}
{{- end }}
