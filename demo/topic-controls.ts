// Creating a topic goes to the controller, wherever it runs; the form resolves once this
// broker's copy of the metadata log has the topic.
import type { Tabka } from 'tabka';
import { describeError, element } from './dom';

export function wireTopicForm(tabka: Tabka, afterChange: () => void): void {
  const form = element<HTMLFormElement>('topic-form');
  const result = element<HTMLOutputElement>('topic-result');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const topic = String(data.get('topic')).trim();
    const minIsr = String(data.get('minIsr'));
    result.classList.remove('error');
    result.textContent = `asking the controller to create ${topic}…`;
    tabka
      .admin()
      .createTopics({
        topics: [
          {
            topic,
            numPartitions: Number(data.get('partitions')),
            replicationFactor: Number(data.get('replicationFactor')),
            configEntries: [{ name: 'min.insync.replicas', value: minIsr }],
          },
        ],
      })
      .then((created) => {
        result.textContent = created ? `created topic ${topic}` : `topic ${topic} already exists`;
      })
      .catch((error: unknown) => {
        result.textContent = `could not create ${topic}: ${describeError(error)}`;
        result.classList.add('error');
      })
      .finally(afterChange);
  });
}
