"""ContainerOps: DevOps orchestration from containers."""
