"""The bucket the deploy keeps its packages in (the Lambda bundle and the template, which is
too large to pass to CloudFormation inline), made on first use: private, encrypted, named for
the account and region unless the operator names one of theirs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from chalicelib.deploy.aws_errors import error_code, translated
from chalicelib.deploy.template import S3Location
from chalicelib.errors import DeployFailed

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def default_bucket_name(account: str, region: str) -> str:
    return f"containerops-packages-{account}-{region}"


@dataclass
class PackageBucket:
    s3: S3Client
    name: str
    region: str

    def ensure(self) -> bool:
        """Make the bucket unless it is there; True when it was made now."""
        with translated(f"checking the package bucket {self.name}"):
            try:
                self.s3.head_bucket(Bucket=self.name)
                return False
            except ClientError as exc:
                if error_code(exc) in ("403", "AccessDenied", "Forbidden"):
                    raise DeployFailed(f"the package bucket {self.name} exists but this account may not use"
                                       " it: name another with PACKAGE_BUCKET=") from exc
                if error_code(exc) not in ("404", "NoSuchBucket", "NotFound"):
                    raise
        with translated(f"making the package bucket {self.name}"):
            if self.region == "us-east-1":
                self.s3.create_bucket(Bucket=self.name)
            else:
                self.s3.create_bucket(Bucket=self.name,
                                      CreateBucketConfiguration={"LocationConstraint": self.region})  # type: ignore[typeddict-item]
            self.s3.put_public_access_block(Bucket=self.name, PublicAccessBlockConfiguration={
                "BlockPublicAcls": True, "IgnorePublicAcls": True,
                "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
            self.s3.put_bucket_encryption(Bucket=self.name, ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
        return True

    def upload(self, key: str, body: bytes, content_type: str) -> S3Location:
        """Put `body` at `key` unless an object is there already (keys name their content)."""
        with translated(f"uploading {key} to {self.name}"):
            try:
                self.s3.head_object(Bucket=self.name, Key=key)
            except ClientError as exc:
                if error_code(exc) not in ("404", "NoSuchKey", "NotFound"):
                    raise
                self.s3.put_object(Bucket=self.name, Key=key, Body=body, ContentType=content_type)
        return S3Location(self.name, key)

    def url(self, location: S3Location) -> str:
        """The object's URL as CloudFormation's TemplateURL wants it."""
        suffix = "amazonaws.com.cn" if self.region.startswith("cn-") else "amazonaws.com"
        return f"https://{location.bucket}.s3.{self.region}.{suffix}/{location.key}"
