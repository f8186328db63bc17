/** Where a CLI command writes (the process's streams, or a test's buffers). */
export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}
