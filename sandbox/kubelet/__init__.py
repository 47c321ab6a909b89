"""The kubelet stand-in: simulated nodes, and pods whose containers run simulated
programs (after kwok's stages), reporting through the API like a real kubelet."""
