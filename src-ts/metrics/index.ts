// The metric classes and how a level builds them.
export { Counter, IntCounter, Gauge, IntGauge, Histogram, scalar, scalarCounter, scalarIntCounter, scalarHistogram } from './scalar'
export { CounterVec, IntCounterVec, GaugeVec, IntGaugeVec, HistogramVec } from './vec'
export { describe, type FamilyHandle, type MetricDescription } from './family'
