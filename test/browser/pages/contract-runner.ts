export type CaseOutcome = { ok: true } | { ok: false; error: string };

export interface ContractRunner {
  names(): Promise<string[]>;
  run(name: string): Promise<CaseOutcome>;
}

/** What test pages put on window for Playwright to drive. */
export interface ContractWindow {
  logContract: ContractRunner;
}
