// The providers the contract suite runs against: one entry each, [name, factory]. libvirt joins when its daemon
// answers; under CI it always joins, so a missing libvirtd fails the run instead of skipping a provider.
import { libvirtAvailable } from "@/lib/testing/libvirt";
import { qemuSubject, type SubjectFactory } from "./contract-subject";
import { libvirtSubject } from "./libvirt-subject";

export const contractSubjects: Array<[string, SubjectFactory]> = [
  ["qemu", qemuSubject],
  ...(process.env.CI === "true" || libvirtAvailable() ? [["libvirt", libvirtSubject] as [string, SubjectFactory]] : []),
];
