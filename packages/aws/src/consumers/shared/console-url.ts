/**
 * The AWS console's origin for a region, or undefined in a partition whose console address is
 * not known here (an ISO partition): a wrong link is worse than none.
 */
export function consoleOrigin(partition: string, region: string): string | undefined {
  switch (partition) {
    case "aws":
      return `https://${region}.console.aws.amazon.com`;
    case "aws-cn":
      return "https://console.amazonaws.cn";
    case "aws-us-gov":
      return "https://console.amazonaws-us-gov.com";
    default:
      return undefined;
  }
}
