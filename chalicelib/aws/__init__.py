"""The boto3 adapters of aws mode: the implementations of the ports in `chalicelib/cloud/ports.py`
(ECS tasks on Fargate, Step Functions executions, Secrets Manager values), each translating
botocore's errors into the project's at its boundary and tested on moto, and the wiring of aws
mode from `AwsSettings`."""
