/**
 * The transit KMS library: OpenBao/Vault-compatible transit encryption (AES-256-GCM with random
 * nonces, `vault:v<N>:` ciphertexts, associated data, batches) over key rings the caller
 * provides, and the naming rule that ties a key to its WorkloadSecretID. Pure: no I/O, no
 * knowledge of certificates or of where keys come from.
 *
 * @module
 */
export * from "./aes_gcm.ts";
export * from "./ciphertext.ts";
export * from "./key_name.ts";
export * from "./transit_engine.ts";
export * from "./transit_requests.ts";
