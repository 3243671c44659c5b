namespace Orrery.Backends.Local;
