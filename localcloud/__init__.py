"""The local cloud: an embedded moto server standing in for AWS, and a runner standing in for Fargate."""
