// The native handle lives in binding/native.ts; this path stays for existing imports.
export * from './binding/native'
