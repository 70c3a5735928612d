"""Publish the templates for self-launching accounts: ``python -m worker.publish s3://BUCKET/PREFIX``.

CloudFormation's quick-create page reads its template from S3, so the operator uploads
templates_cfn/ once per release and sets the printed PORTAL_TEMPLATE_BASE_URL for the worker.
The account admins who follow a quick-create link must be able to read the objects (a bucket
policy for their accounts, or the organisation); this command does not make anything public.
"""
from __future__ import annotations

import argparse
import logging
from typing import Any
from urllib.parse import urlparse

import boto3

from worker import templates
from worker.sessions import client_config

logger = logging.getLogger(__name__)


class PublishError(Exception):
    pass


def publish(s3: Any, destination: str, region: str) -> str:
    """Upload both templates under ``s3://bucket/prefix``; return the HTTPS base URL."""
    parsed = urlparse(destination)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise PublishError(f"destination must look like s3://bucket/prefix, not {destination!r}")
    bucket, prefix = parsed.netloc, parsed.path.strip("/")
    for name in (templates.DEPLOY_TEMPLATE, templates.BUILD_TEMPLATE):
        template = templates.load(name)
        key = f"{prefix}/{name}" if prefix else name
        s3.put_object(Bucket=bucket, Key=key, Body=template.body.encode(), ContentType="application/x-yaml")
        logger.info("published %s to s3://%s/%s", name, bucket, key)
    base = f"https://{bucket}.s3.{region}.amazonaws.com"
    return f"{base}/{prefix}" if prefix else base


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m worker.publish", description=__doc__.splitlines()[0])
    parser.add_argument("destination", help="s3://BUCKET/PREFIX")
    parser.add_argument("--region", help="the bucket's region (default: boto3's configured region)")
    args = parser.parse_args(argv)
    session = boto3.Session(region_name=args.region) if args.region else boto3.Session()
    region = session.region_name or "us-east-1"
    base = publish(session.client("s3", region_name=region, config=client_config()), args.destination, region)
    print(f"PORTAL_TEMPLATE_BASE_URL={base}")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    main()
