/**
 * Which registry an image reference pulls from, by Docker's own rules: the first path component
 * is a registry host when it holds a "." or a ":" or is "localhost"; otherwise the image is on
 * Docker Hub. Tags and digests are not part of the host; ports are.
 */

const DOCKER_HUB = "docker.io";
const DOCKER_HUB_ALIASES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]);

const ECR_PRIVATE = /^\d{12}\.dkr\.ecr(?:-fips)?\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?$/;
const ECR_PUBLIC = "public.ecr.aws";

export interface ImageReference {
  /** The registry host, lower case and normalized (Docker Hub is always "docker.io"), with its port if any. */
  readonly host: string;
  /** The repository path inside the registry, e.g. "library/nginx". */
  readonly repository: string;
}

/** `host[:port]` as a registry is configured, normalized the same way image hosts are. */
export function normalizeRegistryHost(host: string): string {
  let h = host.trim().toLowerCase().replace(/^[a-z][a-z0-9+.-]*:\/\//, "");
  const slash = h.indexOf("/");
  if (slash >= 0) h = h.slice(0, slash);
  // The default HTTPS port is the same registry as no port.
  if (h.endsWith(":443")) h = h.slice(0, -4);
  return DOCKER_HUB_ALIASES.has(h) ? DOCKER_HUB : h;
}

export function parseImageReference(image: string): ImageReference {
  let rest = image.trim();
  const at = rest.indexOf("@");
  if (at >= 0) rest = rest.slice(0, at);
  const slash = rest.indexOf("/");
  const first = slash >= 0 ? rest.slice(0, slash) : "";
  const hasHost = slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost");
  let host = hasHost ? normalizeRegistryHost(first) : DOCKER_HUB;
  let repository = hasHost ? rest.slice(slash + 1) : rest;
  // A tag is the part after the last ":" of the repository (host ports were split off above).
  const colon = repository.lastIndexOf(":");
  if (colon >= 0) repository = repository.slice(0, colon);
  if (host === DOCKER_HUB && !repository.includes("/")) repository = `library/${repository}`;
  if (host === "") host = DOCKER_HUB;
  return { host, repository };
}

/** Whether `image` is pulled from the registry at `registryHost`. */
export function imageOnHost(image: string, registryHost: string): boolean {
  return parseImageReference(image).host === normalizeRegistryHost(registryHost);
}

/** ECR and ECR Public: pulled through IAM, never with a Secrets Manager secret. */
export function isEcrHost(host: string): boolean {
  const h = normalizeRegistryHost(host);
  return ECR_PRIVATE.test(h) || h === ECR_PUBLIC;
}

/** CodeBuild's curated images ("aws/codebuild/standard:7.0") come from CodeBuild itself, not a registry. */
export function isCodeBuildCuratedImage(image: string): boolean {
  return /^aws\/codebuild\//.test(image.trim());
}
