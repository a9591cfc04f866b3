/** One figure of `npm run bench`: a value, and where it has one, the bound it is held to and value/bound. */
export interface Result {
  name: string;
  value: number;
  unit: string;
  bound?: number;
  ratio?: number;
}

export const result = (name: string, value: number, unit: string, bound?: number): Result => ({
  name,
  value: Math.round(value * 100) / 100,
  unit,
  ...(bound !== undefined && { bound, ratio: Math.round((value / bound) * 1000) / 1000 }),
});
