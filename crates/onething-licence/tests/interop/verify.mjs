// Verifies an onething licence credential with Digital Bazaar's eddsa-jcs-2022 implementation (jsonld-signatures
// + @digitalbazaar/data-integrity), offline: the document loader answers only with the issuer's key document.
//
// Usage: node verify.mjs CREDENTIAL.json KEY-DOCUMENT.json   (prints "verified" and exits 0, or the error and 1)
import {readFileSync} from 'node:fs';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {createVerifyCryptosuite} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import jsigs from 'jsonld-signatures';

const {purposes: {AssertionProofPurpose}} = jsigs;
const [credentialPath, keysPath] = process.argv.slice(2);
const credential = JSON.parse(readFileSync(credentialPath, 'utf8'));
const keyDocument = JSON.parse(readFileSync(keysPath, 'utf8'));

const MULTIKEY_CONTEXT = 'https://w3id.org/security/multikey/v1';
const documents = new Map();
// The controller document, as a verifier would fetch it from the issuer's URL.
documents.set(keyDocument.id, {...keyDocument, '@context': ['https://www.w3.org/ns/did/v1', MULTIKEY_CONTEXT]});
// Each verification method on its own, as the key URL (with its fragment) resolves to.
for(const method of keyDocument.verificationMethod) {
  documents.set(method.id, {'@context': MULTIKEY_CONTEXT, ...method});
}

async function documentLoader(url) {
  const document = documents.get(url);
  if(!document) {
    throw new Error(`offline: no document for ${url}`);
  }
  return {contextUrl: null, documentUrl: url, document};
}

const suite = new DataIntegrityProof({cryptosuite: createVerifyCryptosuite()});
const result = await jsigs.verify(credential, {
  suite,
  purpose: new AssertionProofPurpose({controller: documents.get(keyDocument.id)}),
  documentLoader,
});
if(result.verified) {
  console.log('verified');
} else {
  const errors = (result.error?.errors ?? [result.error]).map(e => e?.message ?? String(e));
  console.log(`not verified: ${errors.join('; ')}`);
  process.exit(1);
}
