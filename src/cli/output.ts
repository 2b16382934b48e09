/** Where a command writes: the process's streams, or a buffer in tests. */
export interface Output {
  stdout(text: string): void;
  stderr(text: string): void;
}
