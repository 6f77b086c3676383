"""`make deploy` and `make destroy`: the ContainerOps stack put on AWS in one command.

`settings` reads and checks what the operator gives (the stack's name, region, subnets,
security groups, images); `template` makes the packaged template deployable (the Lambda
bundle's S3 location, the parameters); `packages` keeps the bundle and the template in a
bucket CloudFormation reads; `images` pushes the workspace sidecar to ECR; `stack` creates,
updates, waits for and deletes the CloudFormation stack; `designer` uploads the designer and
its `config.json` and invalidates CloudFront; `deploy` runs the steps in order and `main` is
the command line. Every AWS client is passed in, so the tests run it all on moto.
"""
