"""Models: generators and critics (plain nn.Modules built from typed configs)."""
