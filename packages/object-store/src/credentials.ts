import { randomBytes } from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** A fresh key pair shaped like AWS's (`AKIA` + 16 base-32 characters; a 40-character secret), for one install. */
export function generateCredentials(): { accessKeyId: string; secretAccessKey: string } {
  // 256 is a multiple of 32, so taking each byte modulo 32 keeps the characters uniform.
  const id = [...randomBytes(16)].map((byte) => BASE32.charAt(byte % BASE32.length)).join('');
  return { accessKeyId: `AKIA${id}`, secretAccessKey: randomBytes(30).toString('base64') };
}
