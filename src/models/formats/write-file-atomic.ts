// Kept for the existing imports: every write goes through src/io's one exclusive temp-file helper.
export { writeFileAtomic } from '../../io/atomic-write.ts';
