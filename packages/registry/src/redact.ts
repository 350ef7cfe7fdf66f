/** Replaces every secret it was told of (passwords, their Basic forms, tokens) in text meant for people. */
export class Redactor {
  readonly #secrets = new Set<string>();

  /** Secrets shorter than 4 characters are not searched for (they would blank ordinary words). */
  add(secret: string | undefined): void {
    if (secret !== undefined && secret.length >= 4) this.#secrets.add(secret);
  }

  redact(text: string): string {
    let out = text;
    for (const s of this.#secrets) if (out.includes(s)) out = out.split(s).join('<redacted>');
    return out;
  }

  toJSON(): string {
    return '<redactor>';
  }
}
