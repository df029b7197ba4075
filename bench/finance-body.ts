/**
 * The finance route's request body, one text for every bench that measures it (bench/table.ts'
 * finance rows, bench/exact-json.ts, bench/finance-request.ts): a Transfer with every field of the
 * class, about the size of the bare-fastify floor's body, its long and BigDecimal past a double's
 * precision and written as JSON numbers.
 */
export const TRANSFER_BODY =
  '{"to":9007199254740993,"amount":1234567890123.4567,"currency":"CNY",' +
  '"memo":"rent for the flat on the third floor, paid on time as agreed with the landlord",' +
  '"executeAt":"2024-03-01T10:00:00","tags":["rent","monthly","household","standing-order","bench"]}';
