// The error classes and their translation live in binding/errors.ts; this path stays for existing imports.
export * from './binding/errors'
