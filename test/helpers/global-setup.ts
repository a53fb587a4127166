// Fails the run at once, naming the Debian packages, when a system tool the suite uses is
// missing: `node scripts/system-deps.mjs --install` brings them. Nothing is skipped instead.
export default async function requireSystemDependencies(): Promise<void> {
  const { missingDependencies } = (await import('../../scripts/system-deps.mjs')) as {
    missingDependencies(): Array<{ pkg: string; why: string }>;
  };
  const missing = missingDependencies();
  if (missing.length) {
    throw new Error(
      `the test suite needs these Debian packages: ${missing.map((d) => `${d.pkg} (${d.why})`).join(', ')}.\n` +
        'Install them with: node scripts/system-deps.mjs --install',
    );
  }
}
