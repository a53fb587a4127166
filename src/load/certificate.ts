import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../package-root';

/** The self-signed loopback test certificate shipped in fixtures/tls (see its README). */
export function testCertificate(): { key: Buffer; cert: Buffer } {
  const dir = path.join(packageRoot, 'fixtures', 'tls');
  return { key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) };
}
