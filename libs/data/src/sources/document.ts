/** A raw text document as read from a corpus, before tokenization. */
export interface TextDocument {
  /** Stable identifier (file name), used for the deterministic held-out split. */
  id: string;
  text: string;
}
