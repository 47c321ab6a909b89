"""What every tool is given: the cluster, the Helm engine and the result budget."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .cluster import Cluster

if TYPE_CHECKING:
    from .helm_engine import HelmEngine

DEFAULT_BUDGET = 2000  # tokens a result fed to a model may take


@dataclass
class ToolContext:
    cluster: Cluster
    budget: int = DEFAULT_BUDGET
    namespace: str | None = None  # the default namespace: the kubeconfig context's unless given
    _helm: HelmEngine | None = field(default=None, init=False, repr=False)

    @property
    def default_namespace(self) -> str:
        return self.namespace or self.cluster.default_namespace

    @property
    def helm(self) -> HelmEngine:
        """The Helm engine: helm-python-sdk, or the helm binary through pyhelm3 with KAI_HELM_ENGINE=cli."""
        if self._helm is None:
            from .helm_engine import select_engine

            self._helm = select_engine(self.cluster)
        return self._helm

    def close_helm(self) -> None:
        """Close the Helm engine, when one was made (a context sharing its cluster with others)."""
        if self._helm is not None:
            self._helm.close()
            self._helm = None

    def close(self) -> None:
        """Close the Helm engine and the cluster's connections."""
        self.close_helm()
        self.cluster.close()
