// The providers the contract suite runs against: one entry each, [name, factory].
import { qemuSubject, type SubjectFactory } from "./contract-subject";

export const contractSubjects: Array<[string, SubjectFactory]> = [
  ["qemu", qemuSubject],
  // ["libvirt", libvirtSubject], — the LibvirtProvider's subject goes here (createVm, writePatternThroughRunningVm,
  // openTopForWrite and a spawnSpec that rebuilds it in a child process).
];
