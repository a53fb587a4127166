import * as crypto from 'node:crypto';
import { bits, explicit, implicit, nullValue, octets, oid, sequence, set, unsigned, utcTime, utf8 } from './der';

const SHA256_WITH_RSA = sequence(oid('1.2.840.113549.1.1.11'), nullValue());
const COMMON_NAME = '2.5.4.3';
const SUBJECT_ALT_NAME = '2.5.29.17';
const DAY_MS = 24 * 3600 * 1000;

const pem = (label: string, der: Buffer) => `-----BEGIN ${label}-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;

/**
 * A throwaway self-signed RSA-2048 certificate for `localhost` / `127.0.0.1`, made in this
 * process: the embedded loopback servers (pulse, demo, tests, benches) need one, and a
 * private key shipped in the package would be flagged by every scanner. RSA-2048 keeps the
 * handshake cost and OpenSSL's per-connection state comparable with common deployments.
 */
export function makeCertificate(): { key: Buffer; cert: Buffer } {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const name = sequence(set(sequence(oid(COMMON_NAME), utf8('localhost'))));
  const now = Date.now();
  const altNames = sequence(implicit(2, Buffer.from('localhost', 'ascii')), implicit(7, Buffer.from([127, 0, 0, 1])));
  const tbs = sequence(
    explicit(0, unsigned(Buffer.from([2]))), // v3
    unsigned(crypto.randomBytes(16)),
    SHA256_WITH_RSA,
    name,
    sequence(utcTime(new Date(now - DAY_MS)), utcTime(new Date(now + 365 * DAY_MS))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, sequence(sequence(oid(SUBJECT_ALT_NAME), octets(altNames)))),
  );
  const certificate = sequence(tbs, SHA256_WITH_RSA, bits(crypto.sign('sha256', tbs, privateKey)));
  return {
    key: Buffer.from(privateKey.export({ type: 'pkcs8', format: 'pem' })),
    cert: Buffer.from(pem('CERTIFICATE', certificate)),
  };
}

let cached: { key: Buffer; cert: Buffer } | undefined;

/** This process's loopback test certificate (made on first use, about 50–200 ms of key generation). */
export function testCertificate(): { key: Buffer; cert: Buffer } {
  cached ??= makeCertificate();
  return cached;
}
