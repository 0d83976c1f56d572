"""ECR repositories and the two images, built and pushed by `pulumi up`.

`Dockerfile.api` serves the API and the poller (one image, two commands); `Dockerfile.job` is the
transcode job. The tag is a digest of the build context, so an unchanged source tree pushes
nothing; task definitions reference the pushed image by its content digest (`Image.ref`), so what
runs is exactly what was built.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pulumi_aws as aws
import pulumi_docker_build as docker_build

import pulumi

from .config import StackConfig

# Never part of an image's inputs; skipping them keeps the digest stable across local runs.
_ALWAYS_IGNORED = {
    ".git",
    ".venv",
    "venv",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
}


def _dockerignore_patterns(context: Path) -> list[str]:
    path = context / ".dockerignore"
    if not path.exists():
        return []
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line.rstrip("/") for line in lines if line and not line.startswith(("#", "!"))]


def source_digest(context: Path, dockerfile: Path) -> str:
    """sha256 of the Dockerfile and every file of the build context that .dockerignore keeps.

    Over-including is safe (an extra build); the digest must only never miss a file the image
    copies, which is why files are excluded only by .dockerignore and a fixed list of caches.
    """
    patterns = _dockerignore_patterns(context)

    def ignored(rel: str) -> bool:
        return any(fnmatch.fnmatch(rel, p) or rel.startswith(p.rstrip("*") + "/") for p in patterns)

    digest = hashlib.sha256()
    digest.update(dockerfile.read_bytes() if dockerfile.exists() else b"")
    for root, dirs, files in os.walk(context):
        base = Path(root).relative_to(context)
        # Prune in place so caches and virtualenvs are never even listed.
        dirs[:] = sorted(
            d for d in dirs if d not in _ALWAYS_IGNORED and not ignored((base / d).as_posix())
        )
        for file in sorted(files):
            rel = (base / file).as_posix()
            if ignored(rel):
                continue
            digest.update(rel.encode() + b"\0")
            with open(Path(root) / file, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
    return digest.hexdigest()


# Keep the last few images for rollbacks; untagged layers from replaced tags go after a day.
_LIFECYCLE = {
    "rules": [
        {
            "rulePriority": 1,
            "description": "expire untagged images",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 1,
            },
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 2,
            "description": "keep the 20 most recent images",
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 20},
            "action": {"type": "expire"},
        },
    ]
}


@dataclass
class ImagesArgs:
    """Inputs of `Images`: the stack config and the build context (the repository root)."""

    cfg: StackConfig
    context: Path


class Images(pulumi.ComponentResource):
    def __init__(self, name: str, args: ImagesArgs, opts: pulumi.ResourceOptions | None = None):
        cfg, context = args.cfg, args.context
        super().__init__("vidpipe:infra:Images", name, None, opts)
        self.api_repo, self.api_image = self._image(name, "api", "Dockerfile.api", cfg, context)
        self.job_repo, self.job_image = self._image(name, "job", "Dockerfile.job", cfg, context)
        # Fully qualified `repo@sha256:...` references for the task definitions.
        self.api_image_ref = self.api_image.ref
        self.job_image_ref = self.job_image.ref
        self.register_outputs({"apiImage": self.api_image_ref, "jobImage": self.job_image_ref})

    def _image(self, name: str, role: str, dockerfile: str, cfg: StackConfig, context: Path):
        child = pulumi.ResourceOptions(parent=self)
        repo = aws.ecr.Repository(
            f"{name}-{role}",
            # Mutable so that re-pushing an unchanged digest tag never fails; what runs is pinned
            # by content digest regardless.
            image_tag_mutability="MUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            encryption_configurations=[{"encryption_type": "AES256"}],
            force_delete=cfg.ecr_force_delete,
            opts=child,
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-{role}-lifecycle",
            repository=repo.name,
            policy=json.dumps(_LIFECYCLE),
            opts=child,
        )
        token = aws.ecr.get_authorization_token_output(registry_id=repo.registry_id)
        tag = source_digest(context, context / dockerfile)[:32]
        image = docker_build.Image(
            f"{name}-{role}-image",
            context={"location": str(context)},
            dockerfile={"location": str(context / dockerfile)},
            # Fargate tasks below run X86_64.
            platforms=["linux/amd64"],
            push=True,
            tags=[repo.repository_url.apply(lambda url: f"{url}:{tag}")],
            registries=[
                {
                    "address": repo.repository_url.apply(lambda url: url.split("/")[0]),
                    "username": token.user_name,
                    "password": token.password,
                }
            ],
            # Previews need neither a Docker daemon nor registry credentials.
            build_on_preview=False,
            opts=child,
        )
        return repo, image
