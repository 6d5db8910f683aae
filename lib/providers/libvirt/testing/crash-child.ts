// Runs one snapshot operation of the libvirt provider and kills its own process with SIGKILL when the operation
// reaches sub-step `killAt`: a real crash between two sub-steps, for the reconcile tests.
//   node --import tsx crash-child.ts <uri> <storageDir> <vmId> <ensure|keep|discard> <snapshot> <kind> <killAt>
import { LibvirtProvider } from "../provider";

const [uri, storageDir, vmId, op, name, kind, killAt] = process.argv.slice(2) as string[];
const provider = new LibvirtProvider({
  uri: uri as string,
  storageDir,
  onStep: async (step) => {
    process.stdout.write(`step ${step}\n`);
    if (step === killAt) process.kill(process.pid, "SIGKILL");
  },
});
if (op === "ensure") await provider.ensureSnapshot(vmId as string, name as string, kind as "working" | "protective");
else if (op === "keep") await provider.removeSnapshotKeepingChanges(vmId as string, name as string);
else if (op === "discard") await provider.removeSnapshotDiscardingChanges(vmId as string, name as string);
else throw new Error(`unknown operation ${op}`);
process.stdout.write("done\n");
