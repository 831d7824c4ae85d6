/** English prose for the tokenizer corpus (original text written for this project). */
export const ENGLISH = `The morning train was late again, so Mira opened her notebook and started to write down everything she could see from the platform. A man in a grey coat was feeding pigeons with the crust of a sandwich. Two students were arguing about whether a hot dog counts as a sandwich. The clock above the ticket office said 7:42, but everyone knew it ran four minutes fast.

When the train finally arrived, it was almost empty. She chose a seat by the window, on the side that faces the river, because the light there is softer in the early hours. The river was high after a week of rain, and the water had the colour of milky tea. Small boats were tied to the wooden posts near the old mill, and a heron stood perfectly still in the shallows, waiting for something only it could see.

Mira works at a company that builds software for hospitals. Her team is small: four engineers, one designer, and a product manager who insists on drawing every idea on a whiteboard before anyone writes a line of code. She likes that habit more than she admits. A drawing is cheap to change, and a wrong assumption is easier to spot when it is written in big letters in front of six people.

Today the team had to decide how to store the schedule of every nurse in the building. The old system kept everything in one enormous spreadsheet. It worked, more or less, until two people edited it at the same time and half of the night shifts disappeared. Nobody was hurt, but the head nurse spent a whole weekend rebuilding the rota by hand, and she made it very clear that it must never happen again.

"We need a real database," said Jonah, who had joined the team only a month earlier. "With transactions, and with a history of every change."

"We need to know who changed what, and when," said the product manager, drawing a box labelled HISTORY and three arrows pointing into it.

Mira suggested something simpler: an append-only log of events, where each change is recorded as a small message, and the current schedule is just the result of replaying all the messages in order. If something goes wrong, you can always replay the log up to the moment before the mistake. It is not a new idea, but it is a good one, and it fits the problem well.

By lunch they had a plan. By the end of the afternoon they had a prototype that could record a shift, cancel it, swap it with a colleague, and show the full history of any day. It was not pretty, and the buttons were all the same shade of blue, but it worked.

On the way home the train was crowded. A child near the door was counting the stations out loud: one, two, three, four, five. An old woman was reading a paperback with a torn cover. The heron was gone, and the river had turned from milky tea to dark copper in the evening sun.

Some notes on learning a new language. First, read every day, even if it is only a paragraph. Second, listen to people speaking at normal speed; slow recordings feel comfortable, but they do not prepare you for a real conversation. Third, do not be afraid of mistakes. Nobody learns to ride a bicycle without falling off at least once. Fourth, keep a small list of words you meet more than twice, and review it before you sleep.

A recipe for a quick vegetable soup: chop one onion, two carrots, a stick of celery and three small potatoes. Warm a spoon of olive oil in a large pot and cook the onion until it is soft and sweet, about eight minutes. Add the other vegetables, a pinch of salt, and one litre of water or stock. Let it simmer for twenty-five minutes. Taste it, add pepper, and finish with a handful of chopped parsley. It serves four people, or two very hungry ones.

The weather report for the weekend: Saturday will start cloudy with a chance of light rain in the morning, clearing in the afternoon. Highs near 18 degrees. Sunday will be sunny and warmer, with highs around 23 degrees and a gentle breeze from the south-west. Winds may reach 30 km/h along the coast. Anyone planning to sail should check the tide tables, because the high tide on Sunday is unusually early.

Why do small models matter? A large language model can answer almost any question, but it needs expensive hardware, a lot of memory and a steady supply of electricity. A small model, with a few billion parameters, can run on a single graphics card or even on an ordinary laptop. It will not know everything, yet for many everyday tasks, such as summarising a report, drafting an email or translating a short message, it is fast, private and good enough.

Serving a model to many users is a different problem from training it. Requests arrive at random moments, some are short and some are long, and every user expects the first word of the answer to appear within a second. A good server collects the requests that are running at the same moment and computes their next tokens together, so the weights are read from memory only once per step. It also keeps a cache of the attention keys and values, so the prompt does not have to be processed again for every new token.

Questions worth asking before a launch: What happens when a server dies in the middle of an answer? Who pays for the tokens that were generated before the connection dropped? How quickly can a new version of the model be rolled out, and how quickly can it be rolled back? What does the user see when the system is overloaded: a polite error, or an endless spinner?

The last train of the night leaves at 23:15. If you miss it, there is a bus at 23:40 that stops near the bridge, and after that you will need a taxi or a long walk. Mira has walked home twice this year. Both times it was a clear night, the streets were quiet, and she did not mind at all.
`;
