"""Batch jobs run as ECS tasks (one container command per job)."""
