// A promise that resolves after a delay: the poll interval of the loops that wait for a QEMU to exit or for
// a VM lock to come free. A file of its own so both can share it without depending on each other.
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
