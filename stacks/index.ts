export function deploy() { return {}; }
