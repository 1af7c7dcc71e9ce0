"""Fleet security: a small CA, node certificates, broker TLS config and ACL, command signing,
and balena fleet management. See docs/provisioning.md."""
