/**
 * Questions a user could ask DS Bro about the golden data (`generate.ts`), each with SQL that answers it and the
 * answer. Every answer was computed once with DuckDB from the generated files, checked by hand for sense (sums
 * re-added from their parts, shares re-divided), and written down as a literal; `golden.test.ts` runs the SQL
 * again so the data, the SQL and the literals cannot drift apart.
 *
 * Where an answer is not a whole number, the question says how to round it and the SQL rounds the same way.
 * `answer` is a list when the question asks for several numbers (in the order the SQL returns them).
 */
export interface GoldenQuestion {
  /** Short and stable: how reports and `EVAL_ONLY` name the question. */
  id: string;
  question: string;
  /** DuckDB SQL over the tables `sales`, `products` and `customers`; it returns only the answer's numbers. */
  sql: string;
  answer: number | number[];
}

export const goldenQuestions: GoldenQuestion[] = [
  // Aggregates
  {
    id: 'order-count',
    question: 'How many orders are in the sales data?',
    sql: 'SELECT count(*) FROM sales',
    answer: 5000,
  },
  {
    id: 'total-revenue',
    question: 'What was our total revenue across all orders, to the cent?',
    sql: 'SELECT round(sum(revenue), 2) FROM sales',
    answer: 1110904.71,
  },
  {
    id: 'total-units',
    question: 'How many units did we sell in 2024 altogether?',
    sql: 'SELECT sum(units) FROM sales',
    answer: 17574,
  },
  {
    id: 'average-order-value',
    question: 'What is the average revenue per order? Round to 2 decimals.',
    sql: 'SELECT round(avg(revenue), 2) FROM sales',
    answer: 222.18,
  },
  {
    id: 'average-units',
    question: 'On average, how many units are in an order? Two decimals, please.',
    sql: 'SELECT round(avg(units), 2) FROM sales',
    answer: 3.51,
  },
  {
    id: 'distinct-customers',
    question: 'How many different customers bought something from us?',
    sql: 'SELECT count(DISTINCT customer_id) FROM sales',
    answer: 392,
  },
  {
    id: 'largest-order',
    question: 'What was the biggest single order by revenue?',
    sql: 'SELECT max(revenue) FROM sales',
    answer: 8329.65,
  },

  // Dates: a month, a quarter, a range, a month in a year, weekdays
  {
    id: 'march-revenue',
    question: 'What was total revenue in March 2024? Round to 2 decimals.',
    sql: "SELECT round(sum(revenue), 2) FROM sales WHERE order_date >= DATE '2024-03-01' AND order_date < DATE '2024-04-01'",
    answer: 86455.24,
  },
  {
    id: 'q3-orders',
    question: 'How many orders did we get in Q3 2024?',
    sql: "SELECT count(*) FROM sales WHERE order_date >= DATE '2024-07-01' AND order_date < DATE '2024-10-01'",
    answer: 1288,
  },
  {
    id: 'spring-units',
    question: 'How many units were sold from April 1 to May 15, 2024, both days included?',
    sql: "SELECT sum(units) FROM sales WHERE order_date BETWEEN DATE '2024-04-01' AND DATE '2024-05-15'",
    answer: 1870,
  },
  {
    id: 'december-average-units',
    question: 'In December, what was the average number of units per order? Round to 2 decimals.',
    sql: 'SELECT round(avg(units), 2) FROM sales WHERE month(order_date) = 12',
    answer: 3.93,
  },
  {
    id: 'busiest-month-orders',
    question: 'How many orders did our busiest month have?',
    sql: "SELECT count(*) AS orders FROM sales GROUP BY date_trunc('month', order_date) ORDER BY orders DESC LIMIT 1",
    answer: 638,
  },
  {
    id: 'weekend-share',
    question: 'What percentage of orders were placed on a Saturday or Sunday? Round to 1 decimal.',
    sql: 'SELECT round(100.0 * count(*) FILTER (WHERE isodow(order_date) IN (6, 7)) / count(*), 1) FROM sales',
    answer: 27.9,
  },

  // Joins of two files
  {
    id: 'electronics-revenue',
    question: 'How much revenue did Electronics products bring in? Round to the cent.',
    sql: "SELECT round(sum(s.revenue), 2) FROM sales s JOIN products p ON p.product_id = s.product_id WHERE p.category = 'Electronics'",
    answer: 409550.19,
  },
  {
    id: 'never-ordered',
    question: 'How many products in the catalogue have never been ordered?',
    sql: 'SELECT count(*) FROM products WHERE product_id NOT IN (SELECT product_id FROM sales)',
    answer: 2,
  },
  {
    id: 'enterprise-orders',
    question: 'How many orders were placed by Enterprise customers?',
    sql: "SELECT count(*) FROM sales s JOIN customers c ON c.customer_id = s.customer_id WHERE c.segment = 'Enterprise'",
    answer: 504,
  },
  {
    id: 'germany-revenue',
    question: 'How much revenue came from customers in Germany, to the cent?',
    sql: "SELECT round(sum(s.revenue), 2) FROM sales s JOIN customers c ON c.customer_id = s.customer_id WHERE c.country = 'Germany'",
    answer: 89573.49,
  },
  {
    id: 'discounted-share',
    question: "What percentage of orders were sold below the product's list price? Round to 1 decimal.",
    sql: 'SELECT round(100.0 * count(*) FILTER (WHERE s.unit_price < p.list_price) / count(*), 1) FROM sales s JOIN products p ON p.product_id = s.product_id',
    answer: 40.5,
  },

  // Ranking
  {
    id: 'top-product-units',
    question: 'Which product sold the most units? Give me its product id and how many units it sold.',
    sql: 'SELECT product_id, sum(units) AS units FROM sales GROUP BY product_id ORDER BY units DESC LIMIT 1',
    answer: [126, 2031],
  },
  {
    id: 'top-region-revenue',
    question: 'Which region had the highest revenue, and how much was it, to the cent?',
    sql: 'SELECT round(sum(revenue), 2) AS revenue FROM sales WHERE region IS NOT NULL GROUP BY region ORDER BY revenue DESC LIMIT 1',
    answer: 324855,
  },
  {
    id: 'top-three-customers',
    question: 'Who are our top 3 customers by total revenue? Just their customer ids, best first.',
    sql: 'SELECT customer_id FROM sales WHERE customer_id IS NOT NULL GROUP BY customer_id ORDER BY sum(revenue) DESC LIMIT 3',
    answer: [1319, 1003, 1045],
  },
  {
    id: 'second-category-units',
    question: 'How many units did the second best-selling product category (by units) sell?',
    sql: 'SELECT sum(s.units) AS units FROM sales s JOIN products p ON p.product_id = s.product_id GROUP BY p.category ORDER BY units DESC LIMIT 1 OFFSET 1',
    answer: 4301,
  },

  // Percentages and shares
  {
    id: 'north-revenue-share',
    question: 'What percentage of total revenue came from the North region? Round to 1 decimal.',
    sql: "SELECT round(100.0 * sum(revenue) FILTER (WHERE region = 'North') / sum(revenue), 1) FROM sales",
    answer: 29.2,
  },
  {
    id: 'toys-units-share',
    question: 'What share of all units sold were Toys? Give a percentage with 1 decimal.',
    sql: "SELECT round(100.0 * sum(s.units) FILTER (WHERE p.category = 'Toys') / sum(s.units), 1) FROM sales s JOIN products p ON p.product_id = s.product_id",
    answer: 24.5,
  },

  // Missing values
  {
    id: 'missing-region',
    question: 'How many orders have no region recorded?',
    sql: 'SELECT count(*) FROM sales WHERE region IS NULL',
    answer: 103,
  },
  {
    id: 'guest-orders',
    question: "How many orders don't have a customer id?",
    sql: 'SELECT count(*) FROM sales WHERE customer_id IS NULL',
    answer: 236,
  },
  {
    id: 'missing-age',
    question: 'How many customers have no age on file?',
    sql: 'SELECT count(*) FROM customers WHERE age IS NULL',
    answer: 43,
  },
  {
    id: 'average-age',
    question:
      "What's the average age of our customers, leaving out those without an age? Round to 1 decimal.",
    sql: 'SELECT round(avg(age), 1) FROM customers',
    answer: 47.1,
  },

  // Groups with a condition on the group
  {
    id: 'frequent-customers',
    question: 'How many customers placed more than 10 orders?',
    sql: 'SELECT count(*) FROM (SELECT customer_id FROM sales WHERE customer_id IS NOT NULL GROUP BY customer_id HAVING count(*) > 10)',
    answer: 172,
  },
  {
    id: 'big-sellers',
    question: 'How many products sold more than 500 units in total?',
    sql: 'SELECT count(*) FROM (SELECT product_id FROM sales GROUP BY product_id HAVING sum(units) > 500)',
    answer: 11,
  },

  // Window functions
  {
    id: 'biggest-monthly-jump',
    question:
      'Month over month, what was the biggest increase in revenue from one month to the next? Round to 2 decimals.',
    sql: "SELECT round(max(revenue - previous), 2) FROM (SELECT sum(revenue) AS revenue, lag(sum(revenue)) OVER (ORDER BY date_trunc('month', order_date)) AS previous FROM sales GROUP BY date_trunc('month', order_date))",
    answer: 38468.55,
  },
  // Every day of 2024 has orders, so six rows back is six days back.
  {
    id: 'christmas-eve-moving-average',
    question:
      'What was the 7-day moving average of daily revenue on December 24, 2024 (the 7 days ending that day)? Round to 2 decimals.',
    sql: "SELECT round(moving, 2) FROM (SELECT order_date, avg(sum(revenue)) OVER (ORDER BY order_date ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) AS moving FROM sales GROUP BY order_date) WHERE order_date = DATE '2024-12-24'",
    answer: 4174.49,
  },
];
