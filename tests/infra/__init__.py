"""The infrastructure definition: templates, packaging, local provisioning, routing."""
