// Container names: Docker's rules for user names and its adjective_surname generator for the rest.
import { randomInt } from 'node:crypto';
import { InvalidParameter } from '../../lib/errors.js';

const NAME_RE = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** "/web" from "web"; throws Docker's message for an invalid name. */
/** A container's name is also its DNS name on its networks: no longer than a DNS name may be. */
const NAME_MAX = 253;

export function normalizeName(name: string): string {
  const bare = name.startsWith('/') ? name.slice(1) : name;
  if (bare.length > NAME_MAX) throw new InvalidParameter(`Invalid container name (${bare.slice(0, 32)}...): ${bare.length} characters, at most ${NAME_MAX} are allowed`);
  if (!NAME_RE.test(name)) throw new InvalidParameter(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  return name.startsWith('/') ? name : '/' + name;
}

const LEFT = ['admiring', 'adoring', 'affectionate', 'agitated', 'amazing', 'angry', 'awesome', 'beautiful', 'blissful', 'bold', 'boring', 'brave', 'busy', 'charming', 'clever', 'compassionate', 'competent', 'confident', 'cool', 'cranky', 'crazy', 'dazzling', 'determined', 'distracted', 'dreamy', 'eager', 'ecstatic', 'elastic', 'elated', 'elegant', 'eloquent', 'epic', 'exciting', 'fervent', 'festive', 'flamboyant', 'focused', 'friendly', 'frosty', 'funny', 'gallant', 'gifted', 'goofy', 'gracious', 'great', 'happy', 'hardcore', 'heuristic', 'hopeful', 'hungry', 'infallible', 'inspiring', 'intelligent', 'interesting', 'jolly', 'jovial', 'keen', 'kind', 'laughing', 'loving', 'lucid', 'magical', 'modest', 'musing', 'mystifying', 'naughty', 'nervous', 'nice', 'nifty', 'nostalgic', 'objective', 'optimistic', 'peaceful', 'pedantic', 'pensive', 'practical', 'priceless', 'quirky', 'quizzical', 'recursing', 'relaxed', 'reverent', 'romantic', 'sad', 'serene', 'sharp', 'silly', 'sleepy', 'stoic', 'strange', 'stupefied', 'suspicious', 'sweet', 'tender', 'thirsty', 'trusting', 'unruffled', 'upbeat', 'vibrant', 'vigilant', 'vigorous', 'wizardly', 'wonderful', 'xenodochial', 'youthful', 'zealous', 'zen'];
const RIGHT = ['albattani', 'allen', 'archimedes', 'babbage', 'banach', 'bardeen', 'bartik', 'bell', 'bhabha', 'blackwell', 'bohr', 'booth', 'borg', 'bose', 'brown', 'burnell', 'cannon', 'carson', 'cerf', 'chandrasekhar', 'clarke', 'curie', 'darwin', 'dijkstra', 'dirac', 'easley', 'einstein', 'elion', 'euclid', 'euler', 'fermat', 'fermi', 'feynman', 'franklin', 'galileo', 'gauss', 'goldberg', 'goodall', 'hamilton', 'hawking', 'heisenberg', 'hopper', 'hypatia', 'jang', 'jennings', 'johnson', 'kalam', 'kepler', 'khorana', 'knuth', 'lamarr', 'leakey', 'lovelace', 'lumiere', 'mahavira', 'mayer', 'mccarthy', 'meitner', 'mendel', 'mirzakhani', 'montalcini', 'morse', 'newton', 'nobel', 'noether', 'pascal', 'pasteur', 'payne', 'perlman', 'pike', 'poincare', 'ptolemy', 'raman', 'ramanujan', 'ride', 'ritchie', 'rosalind', 'sammet', 'shannon', 'shockley', 'sinoussi', 'snyder', 'spence', 'stonebraker', 'swanson', 'tesla', 'thompson', 'torvalds', 'turing', 'varahamihira', 'visvesvaraya', 'wescoff', 'wiles', 'williams', 'wilson', 'wing', 'wozniak', 'wright', 'yalow', 'yonath'];

export function generateName(taken: (name: string) => boolean): string {
  for (let i = 0; ; i++) {
    let name = `${LEFT[randomInt(LEFT.length)]}_${RIGHT[randomInt(RIGHT.length)]}`;
    if (i > 10) name += String(randomInt(10));
    if (!taken('/' + name)) return '/' + name;
  }
}
