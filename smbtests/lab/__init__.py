"""The lab: a segmented network in Linux network namespaces, with real Samba and sshd (root)."""
