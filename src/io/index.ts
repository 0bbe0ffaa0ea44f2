// The bottom file-system layer: where lethe may write, how it writes, and who owns a run folder.
export { isInside, realPath, checkWritesOutsideInputs, type ReadSource, type WriteTarget } from './paths.ts';
export { writeFileAtomic, writeFileAtomicSync, makeTempDir, removeStrayTemps, isTempName, tempPathFor } from './atomic-write.ts';
export { lockRunFolder, LOCK_FILE, type LockHolder, type RunLock } from './run-lock.ts';
export { claimRunFolder, readRunManifest, MANIFEST_FILE, type ClaimOptions, type ClaimedRunFolder } from './run-folder.ts';
