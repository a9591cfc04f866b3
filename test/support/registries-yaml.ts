/**
 * Registries as entries under a config's `registries:`, for tests that build a config: compose them,
 * `registries:\n${REGISTRY_YAML.prod}${REGISTRY_YAML.harbor}`. Managed secrets (hub, quay), ECR
 * registries (prod, prodEcr), an htpasswd registry whose file is on EFS (harbor, rotated by Secrets
 * Manager on AWS), one the embedded runtime serves (local) and one it does not (localFile).
 */
export const REGISTRY_YAML = {
  hub: `  - { id: hub, host: registry-1.docker.io, kind: dockerhub, source: { type: managed-secret }, secret: pullkeeper/hub }
`,
  quay: `  - { id: quay, host: quay.io, kind: quay, source: { type: managed-secret }, secret: pullkeeper/quay }
`,
  prod: `  - { id: prod, host: 123456789012.dkr.ecr.eu-west-1.amazonaws.com, kind: ecr, source: { type: ecr-token, account: "123456789012", region: eu-west-1 }, secret: pullkeeper/prod }
`,
  prodEcr: `  - { id: prod-ecr, host: 123456789012.dkr.ecr.eu-west-1.amazonaws.com, kind: ecr, source: { type: ecr-token, account: "123456789012", region: eu-west-1 }, secret: pullkeeper/prod-ecr }
`,
  harbor: `  - id: harbor
    host: harbor.internal.example.com
    kind: generic
    source: { type: htpasswd, file: /mnt/htpasswd/harbor/htpasswd, rotation: rate(1 day), efs: { fileSystem: fs-0123456789abcdef0, accessPoint: "arn:aws:elasticfilesystem:eu-west-1:123456789012:access-point/fsap-0123456789abcdef0", subnets: [subnet-0aaaaaaaaaaaaaaa1], securityGroups: [sg-0ccccccccccccccc3] } }
    secret: pullkeeper/harbor
`,
  local: `  - { id: local, host: "127.0.0.1:5055", kind: generic, source: { type: htpasswd, file: .pullkeeper/registries/local/htpasswd, rotation: rate(1 day), serve: { port: 5055 } }, secret: pullkeeper/local }
`,
  localFile: `  - { id: local, host: "127.0.0.1:5055", kind: generic, source: { type: htpasswd, file: /tmp/htpasswd }, secret: pullkeeper/local }
`,
} as const;
