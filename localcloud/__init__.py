"""The local cloud: an embedded moto server standing in for AWS, a runner standing in for
Fargate."""
