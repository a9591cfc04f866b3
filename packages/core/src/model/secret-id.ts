/**
 * Whether two ways of naming a Secrets Manager secret name the same one: a name, a partial ARN
 * or a full ARN (which ends in "-" and six random characters).
 */
export function sameSecret(a: string, b: string): boolean {
  if (a === b) return true;
  const nameOf = (id: string): string => {
    const match = /^arn:[^:]+:secretsmanager:[^:]*:[^:]*:secret:(.+?)(?:-[A-Za-z0-9]{6})?$/.exec(id);
    return match ? (match[1] as string) : id;
  };
  return nameOf(a) === nameOf(b);
}
