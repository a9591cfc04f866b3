import { describe, expect, it } from "vitest";
import { imageOnHost, isEcrHost, normalizeRegistryHost, parseImageReference } from "./image-host.js";

describe("image host matching", () => {
  it.each([
    ["nginx", "docker.io", "library/nginx"],
    ["nginx:1.27", "docker.io", "library/nginx"],
    ["acme/web:1.4.2", "docker.io", "acme/web"],
    ["docker.io/library/nginx", "docker.io", "library/nginx"],
    ["registry-1.docker.io/acme/web", "docker.io", "acme/web"],
    ["index.docker.io/acme/web@sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0", "docker.io", "acme/web"],
    ["ghcr.io/acme/web:1@sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0", "ghcr.io", "acme/web"],
    ["localhost:5000/web:dev", "localhost:5000", "web"],
    ["localhost/web", "localhost", "web"],
    ["Harbor.Acme.Internal:8443/team/app:2", "harbor.acme.internal:8443", "team/app"],
    ["127.0.0.1:5055/pullkeeper/canary:latest", "127.0.0.1:5055", "pullkeeper/canary"],
  ])("%s is %s / %s", (image, host, repository) => {
    expect(parseImageReference(image)).toEqual({ host, repository });
  });

  it("treats every Docker Hub spelling as one registry, and ports as different registries", () => {
    expect(imageOnHost("acme/web", "registry-1.docker.io")).toBe(true);
    expect(imageOnHost("docker.io/library/nginx", "index.docker.io")).toBe(true);
    expect(imageOnHost("ghcr.io/acme/web", "docker.io")).toBe(false);
    expect(imageOnHost("harbor.acme.internal:8443/a/b", "harbor.acme.internal")).toBe(false);
    expect(imageOnHost("harbor.acme.internal:8443/a/b", "harbor.acme.internal:8443")).toBe(true);
    expect(imageOnHost("harbor.acme.internal/a/b", "https://harbor.acme.internal:443")).toBe(true);
    expect(normalizeRegistryHost("https://index.docker.io/v1/")).toBe("docker.io");
  });

  it("recognizes ECR and ECR Public hosts", () => {
    expect(isEcrHost("123456789012.dkr.ecr.eu-west-1.amazonaws.com")).toBe(true);
    expect(isEcrHost("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com")).toBe(true);
    expect(isEcrHost("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn")).toBe(true);
    expect(isEcrHost("public.ecr.aws")).toBe(true);
    expect(isEcrHost("ghcr.io")).toBe(false);
  });
});
