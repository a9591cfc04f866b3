/**
 * Registries as entries under a config's `registries:`, for the tests of the AWS functions: an ECR
 * registry, an htpasswd registry whose file is on EFS (rotated by Secrets Manager), and a local one
 * the embedded runtime serves. Compose them: `registries:\n${REGISTRY_YAML.prod}${REGISTRY_YAML.harbor}`.
 */
export const REGISTRY_YAML = {
  prod: `  - { id: prod, host: 123456789012.dkr.ecr.eu-west-1.amazonaws.com, kind: ecr, source: { type: ecr-token, account: "123456789012", region: eu-west-1 }, secret: pullkeeper/prod }
`,
  harbor: `  - id: harbor
    host: harbor.internal.example.com
    kind: generic
    source: { type: htpasswd, file: /mnt/htpasswd/harbor/htpasswd, rotation: rate(1 day), efs: { fileSystem: fs-0123456789abcdef0, accessPoint: "arn:aws:elasticfilesystem:eu-west-1:123456789012:access-point/fsap-0123456789abcdef0", subnets: [subnet-0aaaaaaaaaaaaaaa1], securityGroups: [sg-0ccccccccccccccc3] } }
    secret: pullkeeper/harbor
`,
  local: `  - { id: local, host: "127.0.0.1:5055", kind: generic, source: { type: htpasswd, file: .pullkeeper/registries/local/htpasswd, rotation: rate(1 day), serve: { port: 5055 } }, secret: pullkeeper/local }
`,
} as const;
