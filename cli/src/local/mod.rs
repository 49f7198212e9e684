//! `relay local`: the whole stack in one process, on loopback: the API Gateway routes, SQS
//! pollers acting as Lambda's event source mapping, S3/SQS (moto unless `AWS_ENDPOINT_URL`),
//! and Braze + Userflow (the sandbox unless vendor settings are given).
