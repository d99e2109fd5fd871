import type * as Binding from '../../index'

/**
 * Options of `DistributedRuntime.create()`. Declared once, in the binding's Rust `RuntimeOptions`
 * (with the documentation of each option); the fields the package sets itself are left out.
 */
export type RuntimeOptions = Omit<Binding.RuntimeOptions, 'slabSize' | 'maxStringLength'>
