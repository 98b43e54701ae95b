"""`make bench`: a cost report of the customers API, service start-up and the stream publisher.

A report, not a test: it prints what each operation costs as AWS would bill it (DynamoDB
requests, items, bytes and capacity units; EventBridge, Secrets Manager and SQS requests), how
long each service's handler module takes to import next to a bare `import boto3`, and how the
stream publisher batches events. moto's timings say nothing about AWS, so none are reported.
"""
